/**
 * The producer's baseline in `npm run bench`: Express parsing the JSON body and answering 202,
 * with nothing else (no validation, no Kafka). Listens on PORT and prints "listening" when ready.
 */
import express from 'express';

const app = express();
app.use(express.json({ limit: '1mb' }));
app.post('/events', (req, res) => {
  res.status(202).json({ event_id: String((req.body as { event_id?: unknown }).event_id ?? 'bare'), status: 'accepted' });
});
app.post('/events/batch', (req, res) => {
  const events = (req.body as { events?: unknown[] }).events ?? [];
  res.status(202).json({ accepted: events.length, event_ids: events.map((_, i) => String(i)) });
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
