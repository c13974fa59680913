/** Small shared pieces: state badges, counts, errors, spinners, tabs, pager. */
import { type ReactNode, useId } from 'react';
import { ApiError } from '../api/client.js';
import { plural } from '../lib/format.js';
import { SHOWN_STATE_ORDER, STATE_WORDS, countsWords, shownCounts, shownState, stateColor } from '../lib/states.js';

/** A state in words and colour; a cached success shows as `cached` (data-state keeps the real state). */
export function StateBadge({ state, cached, title }: { state: string; cached?: boolean; title?: string }) {
  const shown = shownState(state, cached);
  const words = STATE_WORDS[shown] ?? shown;
  return (
    <span className="badge" data-state={state} data-cached={shown === 'cached' ? 'true' : undefined} title={title ?? (shown === 'cached' ? 'cached: succeeded by reusing an earlier result, without running' : words)}>
      <span className="dot" style={{ background: stateColor(shown) }} aria-hidden="true" />
      {words}
    </span>
  );
}

/** A mapped task's instances by state: a stacked bar and the numbers; `cached` of the successes shown apart. */
export function CountsBar({ counts: stored, cached, total, compact }: { counts: Record<string, number>; cached?: number; total?: number; compact?: boolean }) {
  const sum = total ?? Object.values(stored).reduce((a, b) => a + b, 0);
  const counts = shownCounts(stored, cached);
  const parts = SHOWN_STATE_ORDER.filter((s) => (counts[s] ?? 0) > 0);
  const text = countsWords(counts);
  return (
    <span className={compact ? 'counts compact' : 'counts'} title={text || 'no instances yet'} aria-label={`${plural(sum, 'instance')}: ${text || 'none yet'}`}>
      <span className="counts-bar" aria-hidden="true">
        {parts.map((s) => (
          <span key={s} data-state={s} style={{ flexGrow: counts[s], background: stateColor(s) }} />
        ))}
      </span>
      {!compact && (
        <span className="counts-text">
          {parts.map((s) => (
            <span key={s} className="count" data-state={s}>
              <span className="dot" style={{ background: stateColor(s) }} aria-hidden="true" />
              {counts[s].toLocaleString()} {STATE_WORDS[s]}
            </span>
          ))}
          {!parts.length && <span className="muted">no instances yet</span>}
        </span>
      )}
    </span>
  );
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const e = error as Error;
  const details = e instanceof ApiError ? e.details : [];
  return (
    <div className="error-box" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      <div>{e.message}</div>
      {details.length > 0 && (
        <ul>
          {details.map((d) => (
            <li key={d.field}>
              <code>{d.field}</code> {d.reason}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Loading({ what }: { what?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      Loading{what ? ` ${what}` : ''}…
    </div>
  );
}

export function Tabs<T extends string>({ tabs, value, onChange, label }: { tabs: readonly { id: T; label: ReactNode }[]; value: T; onChange: (id: T) => void; label: string }) {
  const id = useId();
  const move = (delta: number) => {
    const i = tabs.findIndex((t) => t.id === value);
    const next = tabs[(i + delta + tabs.length) % tabs.length];
    onChange(next.id);
    requestAnimationFrame(() => document.getElementById(`${id}-${next.id}`)?.focus());
  };
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((t) => (
        <button
          key={t.id}
          id={`${id}-${t.id}`}
          role="tab"
          type="button"
          aria-selected={t.id === value}
          tabIndex={t.id === value ? 0 : -1}
          className={t.id === value ? 'tab active' : 'tab'}
          onClick={() => onChange(t.id)}
          onKeyDown={(e) => {
            if (e.key === 'ArrowRight') move(1);
            if (e.key === 'ArrowLeft') move(-1);
          }}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

export function Pager({ total, limit, offset, onOffset }: { total: number; limit: number; offset: number; onOffset: (o: number) => void }) {
  if (total <= limit && offset === 0) return <div className="pager muted">{plural(total, 'row')}</div>;
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  return (
    <nav className="pager" aria-label="pages">
      <button type="button" disabled={offset === 0} onClick={() => onOffset(0)} aria-label="first page">
        «
      </button>
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
        ‹ Previous
      </button>
      <span>
        page {page.toLocaleString()} of {pages.toLocaleString()} · {plural(total, 'row')}
      </span>
      <button type="button" disabled={offset + limit >= total} onClick={() => onOffset(offset + limit)}>
        Next ›
      </button>
      <button type="button" disabled={offset + limit >= total} onClick={() => onOffset((pages - 1) * limit)} aria-label="last page">
        »
      </button>
    </nav>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}
