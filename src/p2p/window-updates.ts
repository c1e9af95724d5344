/**
 * Fewer yamux window updates on streams that mostly receive.
 *
 * @chainsafe/libp2p-yamux answers every data frame it receives with a WINDOW_UPDATE frame, so
 * a stream that carries one message per round trip makes the receiver send (encrypt, frame,
 * write) as many frames as it receives, and the sender read as many. Go's yamux, which the
 * protocol comes from, sends an update only once half of the window has been consumed. This
 * applies that rule to one stream: while the stream is established and more than half of the
 * receive window is left, the update waits; the first one that is sent returns the whole
 * consumed amount, so the sender never waits on a window it would otherwise have had.
 *
 * A stream that is not a yamux stream of the expected shape is left alone.
 */
import type { Stream } from '@libp2p/interface';

/** StreamState.Established in @chainsafe/libp2p-yamux 8. */
const ESTABLISHED = 3;

interface YamuxStreamShape {
  sendWindowUpdate(): void;
  recvWindow: number;
  recvWindowCapacity: number;
  state: number;
}

function isYamuxStream(value: unknown): value is YamuxStreamShape {
  const s = value as Partial<YamuxStreamShape>;
  return (
    typeof s.sendWindowUpdate === 'function' &&
    typeof s.recvWindow === 'number' &&
    typeof s.recvWindowCapacity === 'number' &&
    typeof s.state === 'number'
  );
}

/** True when the yamux window update is deferred on `stream`. */
export function deferWindowUpdates(stream: Stream): boolean {
  if (!isYamuxStream(stream)) return false;
  const target = stream;
  const sendNow = target.sendWindowUpdate.bind(target);
  target.sendWindowUpdate = () => {
    if (target.state === ESTABLISHED && target.recvWindowCapacity * 2 > target.recvWindow) {
      return;
    }
    sendNow();
  };
  return true;
}
