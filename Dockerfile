# The swarmts agent as an image, for machines that can pull node:20 from a registry (the
# project's own CI machines cannot; there the agent runs from the checkout, see README.md).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle.mjs ./scripts/
RUN npm ci

FROM node:20-bookworm-slim
WORKDIR /opt/swarmts
COPY package.json package-lock.json ./
# No install scripts: `prepare` would build, and the build is copied from the stage above.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist ./dist
RUN ln -s /opt/swarmts/dist/bundle/swarmts.js /usr/local/bin/swarmts
ENV SWARMTS_HOST=/run/swarmts/swarmts.sock
EXPOSE 4377
VOLUME ["/var/lib/swarmts"]
ENTRYPOINT ["node", "--max-semi-space-size=1", "--v8-pool-size=1", "/opt/swarmts/dist/bundle/swarmts.js", "agent"]
CMD ["--data-dir", "/var/lib/swarmts"]
