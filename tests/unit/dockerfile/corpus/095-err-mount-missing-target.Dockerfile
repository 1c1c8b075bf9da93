FROM alpine:3.19
RUN --mount=type=cache echo
