FROM alpine:3.19
ARG FILE=archive.tar.gz URL=http://example.com/a/b
RUN echo ${FILE%%.*} ${FILE#*.} ${URL/http/https} ${URL//\//_}
ENV BASE=${FILE%.gz}
