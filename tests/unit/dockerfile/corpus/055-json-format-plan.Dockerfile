FROM alpine:3.19
ENV A=1
COPY app/main.py /main.py
