import { Fragment } from 'react';
import { hostsIn, unicodeHost } from '../idn';

/**
 * A host name as people read it (bücher.example), with the xn-- form the server stores beside it. Each in a `<bdi>`:
 * a right-to-left name (Arabic, Hebrew) keeps its own order and does not reorder the text around it.
 */
export function HostName({ name, className }: { name: string; className?: string }) {
  const unicode = unicodeHost(name);
  if (unicode === name) return <bdi className={className}>{name}</bdi>;
  return (
    <>
      <bdi className={className} title={name}>{unicode}</bdi>{' '}
      <bdi className="mono idn-ascii">{name}</bdi>
    </>
  );
}

/**
 * Text from the server (an error, a target, a status name) with its host names read in Unicode, xn-- in a title, each
 * in a `<bdi>` as in {@link HostName}.
 */
export function WithHostNames({ text }: { text: string }) {
  return (
    <>
      {hostsIn(text).map((part, index) => (
        <Fragment key={index}>{part.host ? <bdi title={part.host}>{part.text}</bdi> : part.text}</Fragment>
      ))}
    </>
  );
}
