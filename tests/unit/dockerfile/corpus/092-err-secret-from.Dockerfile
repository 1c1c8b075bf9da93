FROM alpine:3.19
RUN --mount=type=secret,id=x,from=y echo
