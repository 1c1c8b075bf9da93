FROM alpine:3.19 AS dev
RUN echo dev
FROM alpine:3.19 AS prod
RUN echo prod
