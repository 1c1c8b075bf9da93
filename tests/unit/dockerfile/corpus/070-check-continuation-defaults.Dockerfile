ARG TAG
ARG IMAGE=alpine
FROM ${IMAGE}:${TAG}
RUN echo a \

    b
RUN <<EOF

echo fine
EOF
