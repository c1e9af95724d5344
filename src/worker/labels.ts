/**
 * Labels the executor puts on every container it makes. They are how an agent that restarts
 * finds its containers again (adopt.ts) and how Docker events are filtered to this node.
 */

export const NODE_LABEL = 'swarmts.node';
export const SERVICE_LABEL = 'swarmts.service';
export const TASK_LABEL = 'swarmts.task';
export const SLOT_LABEL = 'swarmts.slot';

/** Docker's own swarm labels, so tools that read them (`docker ps --filter`) work unchanged. */
export const DOCKER_SERVICE_ID_LABEL = 'com.docker.swarm.service.id';
export const DOCKER_SERVICE_NAME_LABEL = 'com.docker.swarm.service.name';
export const DOCKER_TASK_ID_LABEL = 'com.docker.swarm.task.id';
export const DOCKER_TASK_NAME_LABEL = 'com.docker.swarm.task.name';
export const DOCKER_NODE_ID_LABEL = 'com.docker.swarm.node.id';
