FROM alpine:3.19
RUN <<EOF
set -e
echo one
echo two
EOF
RUN python3 <<PY
print('x')
PY
