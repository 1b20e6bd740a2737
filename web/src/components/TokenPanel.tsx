import { useState } from 'react';
import { api, ApiError, type Tunnel } from '../api';
import { CopyButton } from './CopyButton';
import { EyeIcon, EyeOffIcon, RefreshIcon } from './Icons';
import { ConfirmDialog } from './Modal';

/**
 * The tunnel's token. The server keeps only a hash of it, so it is here only right after the tunnel was created
 * or its token regenerated (`token`): shown then, copyable, hidden on request. Otherwise the panel says why it
 * cannot be shown and offers to regenerate it, after confirmation.
 */
export function TokenPanel({
  tunnel,
  token,
  revealed,
  onRevealedChange,
  onRegenerated,
}: {
  tunnel: Tunnel;
  token: string | null;
  revealed: boolean;
  onRevealedChange: (revealed: boolean) => void;
  onRegenerated: (tunnel: Tunnel) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const regenerate = async () => {
    setBusy(true);
    setError(null);
    try {
      const updated = await api.regenerateToken(tunnel.id);
      onRegenerated(updated);
      setConfirming(false);
      onRevealedChange(true);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const regenerateButton = (
    <button type="button" className="btn btn-sm" onClick={() => setConfirming(true)}>
      <RefreshIcon />
      Regenerate
    </button>
  );

  return (
    <div className="token-panel">
      {token ? (
        <>
          <label className="field-label" htmlFor="tunnel-token">Token</label>
          <div className="token-row">
            <input
              id="tunnel-token"
              className="input mono token-input"
              readOnly
              value={revealed ? token : '•'.repeat(32)}
              aria-label={revealed ? 'Tunnel token' : 'Tunnel token (hidden)'}
              aria-describedby="tunnel-token-once"
            />
            <button
              type="button"
              className="btn btn-sm"
              aria-pressed={revealed}
              onClick={() => onRevealedChange(!revealed)}
            >
              {revealed ? <EyeOffIcon /> : <EyeIcon />}
              {revealed ? 'Hide' : 'Reveal'}
            </button>
            <CopyButton text={token} label="Copy token" />
            {regenerateButton}
          </div>
          <p className="hint token-once" id="tunnel-token-once" role="note">
            Copy this token now: it is shown only this once. The server keeps only a hash of it, so it cannot be
            shown again; if you lose it, regenerate it. Anyone with this token can connect a client as this tunnel.
          </p>
        </>
      ) : (
        <>
          <span className="field-label">Token</span>
          <div className="token-row">
          <p className="hint token-unavailable">
            The token was shown once, when the tunnel was created or its token last regenerated, and cannot be shown
            again: the server keeps only a hash of it. Use the token you saved then, or regenerate it to get a new one.
          </p>
          {regenerateButton}
          </div>
        </>
      )}
      {confirming && (
        <ConfirmDialog
          title="Regenerate token?"
          message={
            <p>
              The current token stops working at once and every connected client is disconnected. You will need to
              restart the clients with the new token.
            </p>
          }
          confirmLabel="Regenerate token"
          danger
          busy={busy}
          error={error}
          onConfirm={regenerate}
          onCancel={() => {
            setConfirming(false);
            setError(null);
          }}
        />
      )}
    </div>
  );
}
