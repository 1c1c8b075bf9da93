FROM alpine:3.19
RUN --mount=type=cache,target=/var/cache/apk,sharing=locked,id=apk apk add curl
RUN --mount=type=cache,target=.cache,mode=0700,uid=1000 ls
