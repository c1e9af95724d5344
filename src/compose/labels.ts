/**
 * The labels `docker stack deploy` puts on what it creates; kept apart so that the CLI can name
 * them without loading the Compose loader.
 */
export const NAMESPACE_LABEL = 'com.docker.stack.namespace';
export const IMAGE_LABEL = 'com.docker.stack.image';
