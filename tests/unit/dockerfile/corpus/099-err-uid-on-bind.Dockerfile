FROM alpine:3.19
RUN --mount=type=bind,target=/x,uid=1 echo
