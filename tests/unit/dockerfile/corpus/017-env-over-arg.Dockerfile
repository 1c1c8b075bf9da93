FROM alpine:3.19
ARG V=from-arg
ENV V=from-env
RUN echo $V
WORKDIR /$V
