/**
 * Assistant utterances labelled with their intents, in the order they are said:
 *   {"input": "set an alarm for 7am and whats the weather in oslo", "label": ["alarm", "weather"]}
 * Each intent has phrasings with slots (a time, a city, a song, a room, ...), said with a
 * frame around them ("can you ...", "... please"); a third of the utterances join two
 * different intents with "and" ("and then", "and also"); a fifth carry one typo (a letter
 * dropped, doubled, swapped with the next or replaced by a neighbour on the keyboard);
 * casing varies.
 *
 * Two splits: `train` and `heldout` use disjoint phrasings, frames and slot values, so a
 * held-out utterance is phrased in a way and about a value the model never saw.
 */
import { OptionError } from '../errors';
import { SeededRandom } from '../util/seeded-random';
import { checkCount, randomInt } from '../tasks/task';
import { distinctRecords, type LabelledExample } from './labelled';

export const INTENTS = ['alarm', 'timer', 'reminder', 'weather', 'music', 'lights', 'call', 'message', 'news', 'volume'] as const;
export type IntentName = (typeof INTENTS)[number];
export type IntentSplit = 'train' | 'heldout';

type Pools = Record<string, { train: string[]; heldout: string[] }>;

const SLOTS: Pools = {
  time: { train: ['7am', '6:30', '8 am', '5:45 am', 'noon', '9pm', '10:15', '6 oclock', '4:20 pm', '11am', '7:45', 'midnight'], heldout: ['6:15 am', '8:40', '5pm', '9:05'] },
  day: { train: ['tomorrow', 'today', 'on monday', 'on friday', 'tonight', 'this weekend'], heldout: ['on tuesday', 'on sunday'] },
  duration: { train: ['5 minutes', '10 minutes', '2 minutes', 'half an hour', '90 seconds', '1 hour', '25 minutes', '3 minutes'], heldout: ['15 minutes', '45 seconds', '20 minutes'] },
  task: { train: ['buy milk', 'call the dentist', 'take out the trash', 'pay rent', 'water the plants', 'pick up the kids', 'book flights', 'feed the cat'], heldout: ['renew my passport', 'send the invoice', 'charge the car'] },
  city: { train: ['paris', 'london', 'new york', 'tokyo', 'berlin', 'madrid', 'chicago', 'sydney', 'rome', 'toronto'], heldout: ['oslo', 'lisbon', 'seattle', 'nairobi'] },
  song: { train: ['some jazz', 'taylor swift', 'the beatles', 'lofi beats', 'my workout playlist', 'classical music', 'bohemian rhapsody', 'some rock'], heldout: ['miles davis', 'k-pop', 'my chill mix'] },
  room: { train: ['kitchen', 'living room', 'bedroom', 'office', 'hallway', 'garage'], heldout: ['bathroom', 'porch'] },
  onoff: { train: ['on', 'off'], heldout: ['on', 'off'] },
  person: { train: ['mom', 'dad', 'alex', 'sarah', 'john', 'the office', 'grandma', 'mike'], heldout: ['emma', 'my brother', 'dr lee'] },
  text: { train: ['im running late', 'see you soon', 'call me back', 'dinner is ready', 'happy birthday'], heldout: ['on my way', 'meeting moved to 3'] },
  topic: { train: ['sports', 'tech', 'business', 'world', 'local', 'science'], heldout: ['politics', 'health'] },
  level: { train: ['up', 'down', 'to 5', 'to 30 percent', 'to max'], heldout: ['to 7', 'a bit lower'] },
};

const PHRASES: Record<IntentName, { train: string[]; heldout: string[] }> = {
  alarm: {
    train: ['set an alarm for {time}', 'wake me up at {time}', 'alarm at {time} {day}', 'set my alarm to {time}', 'i need an alarm at {time}', 'create an alarm for {time} {day}', 'alarm for {time}'],
    heldout: ['put an alarm on for {time}', 'make sure i wake up at {time} {day}', 'get me up at {time} with an alarm'],
  },
  timer: {
    train: ['set a timer for {duration}', 'start a {duration} timer', 'timer {duration}', 'count down {duration}', 'set timer {duration}', 'i need a timer for {duration}'],
    heldout: ['begin a timer of {duration}', 'put a {duration} timer on', 'countdown from {duration}'],
  },
  reminder: {
    train: ['remind me to {task}', 'remind me to {task} {day}', 'set a reminder to {task}', 'dont let me forget to {task}', 'add a reminder {task} at {time}', 'reminder to {task}'],
    heldout: ['make a reminder that i have to {task}', 'send me a reminder to {task} {day}', 'i have to {task}, remind me'],
  },
  weather: {
    train: ['whats the weather in {city}', 'weather {day}', 'will it rain in {city} {day}', 'how hot is it in {city}', 'weather forecast for {city}', 'is it cold outside', 'do i need an umbrella {day}'],
    heldout: ['what is the forecast like in {city} {day}', 'tell me the weather', 'will it be sunny in {city}'],
  },
  music: {
    train: ['play {song}', 'put on {song}', 'play some music', 'i want to hear {song}', 'start playing {song}', 'shuffle {song}', 'play music by {song}', 'play the song {song}'],
    heldout: ['let me listen to music by {song}', 'throw on some {song} music', 'queue up the song {song}'],
  },
  lights: {
    train: ['turn {onoff} the lights in the {room}', 'lights {onoff} in the {room}', 'switch the {room} lights {onoff}', 'turn the lights {onoff}', 'dim the lights in the {room}', 'turn {onoff} the {room} light'],
    heldout: ['flip the {room} lights {onoff}', 'make the {room} lights brighter', 'kill the lights in the {room}'],
  },
  call: {
    train: ['call {person}', 'phone {person}', 'ring {person}', 'give {person} a call', 'dial {person}', 'start a call with {person}'],
    heldout: ['get {person} on the phone', 'make a phone call to {person}', 'video call {person}'],
  },
  message: {
    train: ['text {person} {text}', 'send a message to {person} saying {text}', 'message {person} that {text}', 'send {person} a text', 'tell {person} {text} by text', 'send a text to {person}'],
    heldout: ['shoot {person} a message saying {text}', 'write {person} a message: {text}', 'drop {person} a text that {text}'],
  },
  news: {
    train: ['whats the news', 'read me the {topic} news', 'news headlines', 'give me the latest {topic} news', 'whats happening in the news {day}', 'any {topic} headlines'],
    heldout: ['catch me up on the {topic} news', 'brief me on todays headlines', 'what are the top {topic} headlines'],
  },
  volume: {
    train: ['turn the volume {level}', 'volume {level}', 'make it louder', 'turn it down', 'set the volume {level}', 'lower the volume', 'mute the sound'],
    heldout: ['crank the volume {level}', 'can the volume go {level}', 'raise the sound {level}'],
  },
};

const FRAMES: { train: Array<[string, string]>; heldout: Array<[string, string]> } = {
  train: [['', ''], ['', ''], ['please ', ''], ['', ' please'], ['can you ', ''], ['could you ', ''], ['hey ', ''], ['ok ', ''], ['', ' thanks'], ['i want you to ', ''], ['hey assistant ', '']],
  heldout: [['', ''], ['would you ', ''], ['assistant, ', ''], ['', ' now'], ['yo ', ' thank you']],
};

const JOINERS = { train: [' and ', ' and ', ' and then ', ' and also '], heldout: [' and ', ' and then ', ' and also '] };

/** Letters beside each one on a QWERTY keyboard, for replacement typos. */
const NEIGHBOURS: Record<string, string> = {
  q: 'wa', w: 'qes', e: 'wrd', r: 'etf', t: 'ryg', y: 'tuh', u: 'yij', i: 'uok', o: 'ipl', p: 'ol', a: 'qsz', s: 'adwx', d: 'sfec', f: 'dgrv',
  g: 'fhtb', h: 'gjyn', j: 'hkum', k: 'jli', l: 'kop', z: 'asx', x: 'zsdc', c: 'xdfv', v: 'cfgb', b: 'vghn', n: 'bhjm', m: 'njk',
};

export interface IntentOptions {
  split?: IntentSplit;
  /** Share of utterances with two intents (default 0.35). */
  twoIntentShare?: number;
  /** Share of utterances with a typo (default 0.2). */
  typoShare?: number;
  exclude?: ReadonlySet<string>;
}

function pick<T>(rng: SeededRandom, items: readonly T[]): T {
  return items[randomInt(rng, items.length)];
}

function phrase(rng: SeededRandom, intent: IntentName, split: IntentSplit): string {
  const template = pick(rng, PHRASES[intent][split]);
  return template.replace(/\{(\w+)\}/g, (_, slot: string) => pick(rng, SLOTS[slot][split])).replace(/\s+/g, ' ').trim();
}

function typo(rng: SeededRandom, text: string): string {
  const words = text.split(' ');
  const candidates = words.map((w, i) => i).filter((i) => /^[a-z]{4,}$/.test(words[i]));
  if (candidates.length === 0) return text;
  const i = pick(rng, candidates);
  const w = words[i];
  const at = 1 + randomInt(rng, w.length - 2);
  const kind = randomInt(rng, 4);
  if (kind === 0) words[i] = w.slice(0, at) + w.slice(at + 1);
  else if (kind === 1) words[i] = w.slice(0, at) + w[at] + w.slice(at);
  else if (kind === 2) words[i] = w.slice(0, at) + w[at + 1] + w[at] + w.slice(at + 2);
  else words[i] = w.slice(0, at) + pick(rng, (NEIGHBOURS[w[at]] ?? w[at]).split('')) + w.slice(at + 1);
  return words.join(' ');
}

function casing(rng: SeededRandom, text: string): string {
  const r = randomInt(rng, 10);
  if (r < 3) return text[0].toUpperCase() + text.slice(1);
  if (r === 3) return text.toUpperCase();
  return text;
}

export function intentUtterances(count: number, seed: number, options: IntentOptions = {}): LabelledExample[] {
  checkCount(count);
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'heldout') throw new OptionError('unknown split', { field: 'split', value: split, expected: '"train" or "heldout"' });
  const two = options.twoIntentShare ?? 0.35;
  const typos = options.typoShare ?? 0.2;
  for (const [field, v] of [['twoIntentShare', two], ['typoShare', typos]] as const) {
    if (!(v >= 0 && v <= 1)) throw new OptionError('not a share', { field, value: v, expected: 'a number in [0, 1]' });
  }
  const rng = new SeededRandom(seed, `intents ${split}`);
  return distinctRecords(count, options.exclude, () => {
    const first = pick(rng, INTENTS);
    const intents: IntentName[] = [first];
    if (rng.uniform() < two) {
      let second = pick(rng, INTENTS);
      while (second === first) second = pick(rng, INTENTS);
      intents.push(second);
    }
    const [before, after] = pick(rng, FRAMES[split]);
    let text = before + intents.map((intent) => phrase(rng, intent, split)).join(pick(rng, JOINERS[split])) + after;
    if (rng.uniform() < typos) text = typo(rng, text);
    return { input: casing(rng, text), label: intents };
  }, `intents (${split})`);
}
