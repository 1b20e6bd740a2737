import { Fragment } from 'react';
import { hostsIn, unicodeHost } from '../idn';

/** A host name as people read it (bücher.example), with the xn-- form the server stores beside it. */
export function HostName({ name, className }: { name: string; className?: string }) {
  const unicode = unicodeHost(name);
  if (unicode === name) return <span className={className}>{name}</span>;
  return (
    <>
      <span className={className} title={name}>{unicode}</span>{' '}
      <span className="mono idn-ascii">{name}</span>
    </>
  );
}

/** Text from the server (an error, a target, a status name) with its host names read in Unicode, xn-- in a title. */
export function WithHostNames({ text }: { text: string }) {
  return (
    <>
      {hostsIn(text).map((part, index) => (
        <Fragment key={index}>{part.host ? <span title={part.host}>{part.text}</span> : part.text}</Fragment>
      ))}
    </>
  );
}
