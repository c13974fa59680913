/** Clear, mark success or failed — each asks first and says what it did. */
import { useState } from 'react';
import { api } from '../api/endpoints.js';
import { useSession } from '../lib/session.js';
import { Dialog } from './Dialog.js';
import { ErrorBox } from './bits.js';

export function ClearButton({ dagId, runId, taskIds, label, onlyFailed, onDone }: { dagId: string; runId: string; taskIds?: string[]; label?: string; onlyFailed?: boolean; onDone: () => void }) {
  const { canOperate } = useSession();
  const [open, setOpen] = useState(false);
  const [downstream, setDownstream] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string>();
  if (!canOperate) return null;
  const what = taskIds?.length ? taskIds.join(', ') : onlyFailed ? 'the failed tasks' : 'every task';
  const go = () => {
    setBusy(true);
    setError(undefined);
    api.clear(dagId, runId, { task_ids: taskIds, downstream, only_failed: onlyFailed ?? false }).then(
      (r) => {
        setBusy(false);
        setOpen(false);
        setMessage(r.cleared.length ? `Cleared ${r.cleared.length}: they run again.` : 'Nothing to clear.');
        onDone();
      },
      (e: unknown) => {
        setBusy(false);
        setError(e);
      },
    );
  };
  return (
    <>
      <button type="button" onClick={() => setOpen(true)} data-action="clear">
        ↻ {label ?? 'Clear'}
      </button>
      {message && (
        <span className="flash" role="status">
          {message}
        </span>
      )}
      <Dialog title="Clear and run again" open={open} onClose={() => setOpen(false)}>
        <p>
          Clear <strong>{what}</strong> in run <span className="mono">{runId}</span>? Cleared task instances run again; their earlier tries stay in the history.
        </p>
        <label className="check">
          <input type="checkbox" checked={downstream} onChange={(e) => setDownstream(e.target.checked)} /> Also clear everything downstream
        </label>
        <ErrorBox error={error} title="Not cleared" />
        <div className="actions">
          <button type="button" onClick={() => setOpen(false)}>
            Cancel
          </button>
          <button type="button" className="primary" onClick={go} disabled={busy} data-action="confirm-clear">
            {busy ? 'Clearing…' : 'Clear'}
          </button>
        </div>
      </Dialog>
    </>
  );
}

export function MarkButtons({ what, mark, onDone }: { what: string; mark: (state: 'success' | 'failed') => Promise<unknown>; onDone: () => void }) {
  const { canOperate } = useSession();
  const [pending, setPending] = useState<'success' | 'failed' | null>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  if (!canOperate) return null;
  const go = () => {
    if (!pending) return;
    setBusy(true);
    mark(pending).then(
      () => {
        setBusy(false);
        setPending(null);
        onDone();
      },
      (e: unknown) => {
        setBusy(false);
        setError(e);
      },
    );
  };
  return (
    <>
      <button type="button" onClick={() => (setError(undefined), setPending('success'))} data-action="mark-success">
        ✓ Mark success
      </button>
      <button type="button" onClick={() => (setError(undefined), setPending('failed'))} data-action="mark-failed">
        ✗ Mark failed
      </button>
      <Dialog title={`Mark ${pending ?? ''}`} open={pending !== null} onClose={() => setPending(null)}>
        <p>
          Mark <strong>{what}</strong> as <strong>{pending}</strong>? {pending === 'success' ? 'Unfinished work ends as success.' : 'Unfinished work stops.'}
        </p>
        <ErrorBox error={error} title="Not marked" />
        <div className="actions">
          <button type="button" onClick={() => setPending(null)}>
            Cancel
          </button>
          <button type="button" className={pending === 'failed' ? 'danger' : 'primary'} onClick={go} disabled={busy}>
            {busy ? 'Marking…' : `Mark ${pending}`}
          </button>
        </div>
      </Dialog>
    </>
  );
}
