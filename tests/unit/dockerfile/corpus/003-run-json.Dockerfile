FROM alpine:3.19
RUN ["/bin/echo", "hi there"]
