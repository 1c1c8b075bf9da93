FROM alpine:3.19 AS base
ENV BASE=1
WORKDIR /base
FROM base AS child
RUN echo $BASE
