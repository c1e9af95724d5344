/**
 * A UDP echo server image for the mesh's end-to-end UDP test. The only image here is made
 * from busybox-static, whose applets have no UDP server; this one is a 624-byte static
 * program built from test/support/udp-echo.s (`as udp-echo.s -o e.o && ld -static -N -s
 * --build-id=none -z noseparate-code -o udpecho e.o`): it echoes every datagram on port 7.
 * The bytes are kept here so no toolchain is needed to run the tests.
 */
import type Docker from 'dockerode';

export const UDP_ECHO_IMAGE = 'swarmts/udpecho:test';

const PROGRAM =
  'f0VMRgIBAQAAAAAAAAAAAAIAPgABAAAAeABAAAAAAABAAAAAAAAAADABAAAAAAAAAAAAAEAAOAABAEAABQAEAAEAAAAHAAAAeAAAAAAAAAB4AEAAAAAAAHgAQAAAAAAAmQAAAAAAAACwCAAAAAAAAAEAAAAAAAAAuCkAAAC/AgAAAL4CAAAAMdIPBUGJxLgxAAAARInnSI01ZAAAALoQAAAADwXHBXMIAAAQAAAAuC0AAABEiedIjTVUAAAAugAIAABFMdJMjQVFCAAATI0NTggAAA8FSIXAeMpIicK4LAAAAESJ50iNNSUAAABFMdJMjQUbCAAARIsNJAgAAA8F66MCAAAHAAAAAAAAAAAAAAAAAC5zaHN0cnRhYgAudGV4dAAuZGF0YQAuYnNzAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAALAAAAAQAAAAcAAAAAAAAAeABAAAAAAAB4AAAAAAAAAIkAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAEQAAAAEAAAADAAAAAAAAAAEBQAAAAAAAAQEAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAABcAAAAIAAAAAwAAAAAAAAARAUAAAAAAABEBAAAAAAAAFwgAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAABAAAAAwAAAAAAAAAAAAAAAAAAAAAAAAARAQAAAAAAABwAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAA';

/** Imports the image into an engine (a tar holding /udpecho, run as the image's command). */
export async function loadUdpEchoImage(docker: Docker): Promise<void> {
  const tar = tarOf('udpecho', Buffer.from(PROGRAM, 'base64'), 0o755);
  const [repo, tag] = UDP_ECHO_IMAGE.split(':') as [string, string];
  const stream = await docker.importImage(
    tar as never,
    { repo, tag, changes: ['CMD ["/udpecho"]'] } as never,
  );
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream as unknown as NodeJS.ReadableStream,
      (error: Error | null) => (error ? reject(error) : resolve()),
    );
  });
}

/** A ustar archive with one regular file. */
function tarOf(name: string, content: Buffer, mode: number): Buffer {
  const header = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number) =>
    header.write(text.slice(0, length), offset, length, 'ascii');
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0');
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.length, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  header.fill(' ', 148, 156); // the checksum counts itself as spaces
  put('0', 156, 1);
  put('ustar', 257, 6);
  put('00', 263, 2);
  const sum = header.reduce((total, byte) => total + byte, 0);
  put(`${octal(sum, 7)}\0`, 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}
