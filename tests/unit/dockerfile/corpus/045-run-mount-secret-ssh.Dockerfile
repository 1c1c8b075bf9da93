FROM alpine:3.19
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc,required=true --mount=type=secret,id=token,env=TOKEN --mount=type=ssh,id=github cat /root/.npmrc
