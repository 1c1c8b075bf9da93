FROM alpine:3.19
VOLUME ["/data"]
VOLUME /cache /logs
USER 1000:1000
RUN id
