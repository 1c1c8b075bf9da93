FROM alpine:3.19
ARG X
WORKDIR ${X:?X must be set}
