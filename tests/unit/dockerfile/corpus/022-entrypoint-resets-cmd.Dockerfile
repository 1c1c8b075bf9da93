FROM cmdbase
ENTRYPOINT ["/bin/other"]
