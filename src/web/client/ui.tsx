import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Loads data on mount (and when `deps` change); `reload` fetches again. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[] = []): { data: T | undefined; error: string | null; loading: boolean; reload: () => Promise<void> } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const v = await load();
      if (mine === seq.current) {
        setData(v);
        setError(null);
      }
    } catch (err) {
      if (mine === seq.current) setError(errorText(err));
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  }, deps);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload };
}

export function ErrorBox(props: { error: string | null; onClose?: () => void }) {
  if (props.error === null || props.error === '') return null;
  return (
    <div class="error" role="alert">
      <span>{props.error}</span>
      {props.onClose && (
        <button class="link" onClick={props.onClose} aria-label="Dismiss">
          ×
        </button>
      )}
    </div>
  );
}

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && props.onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [props.onClose]);
  return (
    <div class="modal-backdrop" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="modal" role="dialog" aria-label={props.title}>
        <header>
          <h2>{props.title}</h2>
          <button class="link" onClick={props.onClose} aria-label="Close">
            ×
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}

/** A usage bar: `used` of `total` (total < 0 or null: unlimited), plain SVG. */
export function UsageBar(props: { label: string; used: number; total: number | null; unit?: string; format?: (n: number) => string }) {
  const fmt = props.format ?? ((n: number) => `${n}${props.unit ?? ''}`);
  const unlimited = props.total === null || props.total < 0;
  const frac = unlimited || props.total === 0 ? 0 : Math.min(1, props.used / (props.total ?? 1));
  const cls = frac >= 0.9 ? 'bar-fill full' : frac >= 0.7 ? 'bar-fill high' : 'bar-fill';
  return (
    <div class="usage" data-label={props.label}>
      <div class="usage-label">
        <span>{props.label}</span>
        <span class="usage-figures">
          {fmt(props.used)} of {unlimited ? 'unlimited' : fmt(props.total ?? 0)}
        </span>
      </div>
      <svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label={`${props.label}: ${Math.round(frac * 100)}% used`}>
        <rect class="bar-track" x="0" y="0" width="100" height="8" rx="2" />
        <rect class={cls} x="0" y="0" width={frac * 100} height="8" rx="2" />
      </svg>
    </div>
  );
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 || Number.isInteger(v) ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export const formatMb = (mb: number): string => formatBytes(mb * 1024 * 1024);
export const formatGb = (gb: number): string => formatBytes(gb * 1024 * 1024 * 1024);

export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const d = new Date(iso.endsWith('Z') || /[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function StatusBadge(props: { status: string; task?: string | null | undefined }) {
  const s = props.status.toUpperCase();
  const cls = s === 'ACTIVE' ? 'ok' : s === 'ERROR' ? 'bad' : s === 'BUILD' || (props.task ?? null) !== null ? 'busy' : 'idle';
  return (
    <span class={`badge ${cls}`} data-status={s}>
      {s}
      {props.task ? <small> ({props.task})</small> : null}
    </span>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}
