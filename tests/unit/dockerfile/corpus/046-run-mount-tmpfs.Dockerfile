FROM alpine:3.19
RUN --mount=type=tmpfs,target=/tmp,size=64m df /tmp
