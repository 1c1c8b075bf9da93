FROM alpine:3.19
ONBUILD COPY app/ /app/
ONBUILD RUN echo triggered
