FROM alpine:3.19
USER app
WORKDIR /home/app
