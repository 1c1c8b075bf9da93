FROM alpine:3.19
WORKDIR /srv
COPY app/main.py ./
COPY README.md docs/
