import { useState } from 'react';
import { api } from '../api/endpoints.js';
import { useSession } from '../lib/session.js';

/** A switch that pauses or unpauses a DAG. */
export function PauseToggle({ dagId, paused, onChange }: { dagId: string; paused: boolean; onChange?: (paused: boolean) => void }) {
  const { canOperate } = useSession();
  const [value, setValue] = useState(paused);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  if (value !== paused && !busy) setValue(paused);
  const flip = () => {
    const next = !value;
    setBusy(true);
    setValue(next);
    api.setPaused(dagId, next).then(
      (d) => {
        setBusy(false);
        setError(undefined);
        onChange?.(d.is_paused);
      },
      (e: Error) => {
        setBusy(false);
        setValue(!next);
        setError(e.message);
      },
    );
  };
  return (
    <span className="toggle-wrap">
      <button
        type="button"
        role="switch"
        aria-checked={!value}
        aria-label={`${dagId} ${value ? 'paused' : 'active'}: ${value ? 'unpause' : 'pause'}`}
        title={canOperate ? (value ? 'Paused: no new runs start. Click to unpause.' : 'Active. Click to pause.') : 'You need the op role to pause'}
        className={`switch ${value ? 'off' : 'on'}`}
        disabled={busy || !canOperate}
        onClick={flip}
      >
        <span className="knob" />
      </button>
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
