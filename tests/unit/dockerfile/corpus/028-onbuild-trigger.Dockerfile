FROM withtriggers
RUN echo child
