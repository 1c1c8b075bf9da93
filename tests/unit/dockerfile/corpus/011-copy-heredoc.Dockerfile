FROM alpine:3.19
ARG NAME=world
COPY <<EOF /etc/greeting
hello $NAME
EOF
COPY <<'RAW' /etc/raw
keep $NAME
RAW
