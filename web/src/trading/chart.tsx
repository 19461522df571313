// Candlestick chart with volume (lightweight-charts): history from /api/v3/klines, then
// live bars from the `<symbol>@kline_<interval>` stream. The container's data attributes
// (candle count, last close) let the browser tests see what the chart holds.
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  CandlestickSeries,
  ColorType,
  createChart,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from 'lightweight-charts';
import { get } from '../lib/api.ts';
import { combinedStream } from '../lib/streams.ts';
import type { MarketInfo } from '../state.ts';

export const chartIntervals = ['1m', '5m', '15m', '1h', '4h', '1d'] as const;
export const klineHistoryLimit = 500;

type KlineRow = [number, string, string, string, string, string, ...unknown[]];

interface KlineEvent {
  k: { t: number; o: string; h: string; l: string; c: string; v: string };
}

const upColor = '#2ebd85';
const downColor = '#f6465d';

export function Chart({ market }: { market: MarketInfo }) {
  const container = useRef<HTMLDivElement>(null);
  const [interval, setInterval] = useState<string>('1m');
  const [candles, setCandles] = useState({ count: 0, lastClose: '' });

  useEffect(() => {
    const element = container.current!;
    const chart: IChartApi = createChart(element, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#848e9c', fontSize: 11, attributionLogo: false },
      grid: { vertLines: { color: 'rgba(43,49,57,0.5)' }, horzLines: { color: 'rgba(43,49,57,0.5)' } },
      rightPriceScale: { borderColor: '#2b3139' },
      timeScale: { borderColor: '#2b3139', timeVisible: true, secondsVisible: false, rightOffset: 6 },
      crosshair: { mode: 0 },
    });
    const priceFormat = { type: 'price' as const, precision: market.priceDecimals, minMove: Number(market.tickSize) };
    const candleSeries: ISeriesApi<'Candlestick'> = chart.addSeries(CandlestickSeries, {
      upColor,
      downColor,
      borderVisible: false,
      wickUpColor: upColor,
      wickDownColor: downColor,
      priceFormat,
    });
    const volumeSeries: ISeriesApi<'Histogram'> = chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceScaleId: '' });
    volumeSeries.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    candleSeries.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });

    let alive = true;
    let count = 0;
    let lastTime = 0;
    const put = (openTimeMs: number, open: string, high: string, low: string, close: string, volume: string): void => {
      const time = Math.floor(openTimeMs / 1000) as UTCTimestamp;
      if (time < lastTime) return;
      if (time > lastTime) count++;
      lastTime = time;
      candleSeries.update({ time, open: Number(open), high: Number(high), low: Number(low), close: Number(close) });
      volumeSeries.update({ time, value: Number(volume), color: Number(close) >= Number(open) ? 'rgba(46,189,133,0.45)' : 'rgba(246,70,93,0.45)' });
      setCandles({ count, lastClose: close });
    };
    const pending: KlineEvent[] = [];
    let historyLoaded = false;
    const stream = combinedStream([`${market.symbol.toLowerCase()}@kline_${interval}`], {
      onMessage: (_name, data) => {
        const event = data as KlineEvent;
        if (!event?.k) return;
        if (!historyLoaded) pending.push(event);
        else put(event.k.t, event.k.o, event.k.h, event.k.l, event.k.c, event.k.v);
      },
    });
    get<KlineRow[]>('/api/v3/klines', { symbol: market.symbol, interval, limit: klineHistoryLimit })
      .then((rows) => {
        if (!alive) return;
        candleSeries.setData(
          rows.map((row) => ({ time: Math.floor(row[0] / 1000) as UTCTimestamp, open: Number(row[1]), high: Number(row[2]), low: Number(row[3]), close: Number(row[4]) })),
        );
        volumeSeries.setData(
          rows.map((row) => ({
            time: Math.floor(row[0] / 1000) as UTCTimestamp,
            value: Number(row[5]),
            color: Number(row[4]) >= Number(row[1]) ? 'rgba(46,189,133,0.45)' : 'rgba(246,70,93,0.45)',
          })),
        );
        count = rows.length;
        lastTime = rows.length ? Math.floor(rows[rows.length - 1]![0] / 1000) : 0;
        setCandles({ count, lastClose: rows.length ? rows[rows.length - 1]![4] : '' });
      })
      .catch(() => undefined)
      .finally(() => {
        historyLoaded = true;
        for (const event of pending.splice(0)) put(event.k.t, event.k.o, event.k.h, event.k.l, event.k.c, event.k.v);
      });
    return () => {
      alive = false;
      stream.close();
      chart.remove();
    };
  }, [market.symbol, interval]);

  return (
    <section class="panel chart-panel">
      <div class="panel-head">
        <div class="segmented" role="tablist" aria-label="Chart interval">
          {chartIntervals.map((name) => (
            <button key={name} class={name === interval ? 'on' : ''} onClick={() => setInterval(name)} role="tab" aria-selected={name === interval}>
              {name}
            </button>
          ))}
        </div>
      </div>
      <div class="chart-wrap">
        <div class="chart" ref={container} data-testid="chart" data-candles={candles.count} data-last-close={candles.lastClose} />
        {candles.count === 0 && <p class="chart-empty muted">No trades yet: candles appear with the first trade.</p>}
      </div>
    </section>
  );
}
