FROM alpine:3.19
ARG SRC=app DEST=/opt/app
COPY ${SRC}/ ${DEST}/
