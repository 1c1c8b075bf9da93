ARG VERSION=1
FROM alpine:3.19
RUN echo ${VERSION:-unset}
