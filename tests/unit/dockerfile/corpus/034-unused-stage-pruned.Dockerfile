FROM alpine:3.19 AS unused
RUN echo never
FROM alpine:3.19 AS used
RUN echo used
FROM alpine:3.19
COPY --from=used /etc/hostname /h
