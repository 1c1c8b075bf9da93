FROM alpine:3.19
RUN echo hello && echo world
