import type * as T from './generated/types.js';
import type { Settings } from '../settings.js';
import { validationException } from './validation.js';

/**
 * What the configured placement (CRML_ENGINE) cannot run, refused at create so the user learns it before anything
 * exists. On a Docker Swarm, Pipe mode's FIFOs would be made and fed on this machine, which a node's container
 * cannot read: refused (the Swarm runner refuses it again, for a run created under other settings). Model channels
 * (incremental training) are always given as files, so only trainingInputMode decides.
 */
export function assertPlacementInput(input: Pick<T.CreateTrainedModelRequest, 'trainingInputMode'>, settings: Pick<Settings, 'placement'>): void {
  if (settings.placement === 'swarm' && input.trainingInputMode === 'Pipe') {
    throw validationException([
      {
        path: 'trainingInputMode',
        value: 'Pipe',
        constraint:
          "Pipe is not offered on a Docker Swarm placement (CRML_ENGINE=swarm): its FIFOs are fed from this machine, which a Swarm node's container cannot read. Use File or FastFile, or CRML_ENGINE=docker",
      },
    ]);
  }
}
