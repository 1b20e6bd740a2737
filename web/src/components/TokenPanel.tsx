import { useState } from 'react';
import { api, ApiError, type Tunnel } from '../api';
import { CopyButton } from './CopyButton';
import { EyeIcon, EyeOffIcon, RefreshIcon } from './Icons';
import { ConfirmDialog } from './Modal';

/** The tunnel's token: hidden until revealed, copyable, and regenerated only after confirmation. */
export function TokenPanel({
  tunnel,
  revealed,
  onRevealedChange,
  onRegenerated,
}: {
  tunnel: Tunnel;
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

  return (
    <div className="token-panel">
      <label className="field-label" htmlFor="tunnel-token">Token</label>
      <div className="token-row">
        <input
          id="tunnel-token"
          className="input mono token-input"
          readOnly
          value={revealed ? tunnel.token : '•'.repeat(32)}
          aria-label={revealed ? 'Tunnel token' : 'Tunnel token (hidden)'}
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
        <CopyButton text={tunnel.token} label="Copy token" />
        <button type="button" className="btn btn-sm" onClick={() => setConfirming(true)}>
          <RefreshIcon />
          Regenerate
        </button>
      </div>
      <p className="hint">Anyone with this token can connect a client as this tunnel. Keep it secret.</p>
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
