/**
 * A service spec with its secret, config and network references rewritten (names resolved to
 * ids, by the control API and by `stack deploy` alike), every other part left as it is.
 */
import type { ConfigReference, NetworkAttachmentConfig, SecretReference } from './object-types.js';
import type { ServiceSpec } from './service-types.js';

export interface ReferenceMap {
  secret: (ref: SecretReference) => SecretReference;
  config: (ref: ConfigReference) => ConfigReference;
  network: (attachment: NetworkAttachmentConfig) => NetworkAttachmentConfig;
}

export function mapReferences(spec: ServiceSpec, map: ReferenceMap): ServiceSpec {
  const container = spec.TaskTemplate.ContainerSpec;
  const Secrets = container.Secrets?.map(map.secret);
  const Configs = container.Configs?.map(map.config);
  const Networks = spec.TaskTemplate.Networks?.map(map.network);
  return {
    ...spec,
    TaskTemplate: {
      ...spec.TaskTemplate,
      ContainerSpec: {
        ...container,
        ...(Secrets ? { Secrets } : {}),
        ...(Configs ? { Configs } : {}),
      },
      ...(Networks ? { Networks } : {}),
    },
  };
}
