FROM alpine:3.19
ARG REV=abc
LABEL org.opencontainers.image.revision=$REV "multi word"="yes indeed"
