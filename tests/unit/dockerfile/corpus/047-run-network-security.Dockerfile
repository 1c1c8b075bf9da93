FROM alpine:3.19
RUN --network=none echo offline
RUN --network=host --security=insecure echo host
