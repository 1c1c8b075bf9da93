FROM alpine:3.19
RUN echo one > /one
FROM alpine:3.19
COPY --from=0 /one /one
