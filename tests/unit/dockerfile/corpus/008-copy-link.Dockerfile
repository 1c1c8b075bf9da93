FROM alpine:3.19
RUN echo base
COPY --link app/ /app/
