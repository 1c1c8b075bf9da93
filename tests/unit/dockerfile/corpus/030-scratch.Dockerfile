FROM scratch
COPY README.md /
CMD ["/README.md"]
