/**
 * Assistant utterances labelled with their intents, in the order they are said:
 *   {"input": "set an alarm for 7am and whats the weather in oslo", "label": ["alarm", "weather"]}
 * Each intent has phrasings with slots (a time, a city, a song, a room, ...), said with a
 * frame around them ("can you ...", "... please"); a third of the utterances join two
 * different intents with "and" ("and then", "and also"); a fifth carry one typo (a letter
 * dropped, doubled, swapped with the next or replaced by a neighbour on the keyboard);
 * casing varies. Two in five training intents are said as a shared lead and a noun phrase
 * naming the intent (OBJECTS). A fourth of the training utterances (none held out) carry a filler word
 * ("um", "just", ...) between two of their words, so that a model keys on the words that name
 * the intent rather than on where a template puts them.
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
  time: { train: ['3am', '7:30 pm', '10 pm', '5:30', '8:15 am', '1 pm', '6am', '11:45 pm', '9:30', '4 am', '2:10', '12:30', '7am', '6:30', '8 am', '5:45 am', 'noon', '9pm', '10:15', '6 oclock', '4:20 pm', '11am', '7:45', 'midnight'], heldout: ['6:15 am', '8:40', '5pm', '9:05'] },
  day: { train: ['on wednesday', 'on thursday', 'on saturday', 'tomorrow morning', 'every day', 'next week', 'this evening', 'tomorrow', 'today', 'on monday', 'on friday', 'tonight', 'this weekend'], heldout: ['on tuesday', 'on sunday'] },
  duration: { train: ['30 seconds', '4 minutes', '12 minutes', '40 minutes', '2 hours', '8 minutes', '1 minute', '50 seconds', '6 minutes', '30 minutes', '5 minutes', '10 minutes', '2 minutes', 'half an hour', '90 seconds', '1 hour', '25 minutes', '3 minutes'], heldout: ['15 minutes', '45 seconds', '20 minutes'] },
  task: { train: ['email the landlord', 'call grandma back', 'send the report', 'buy a birthday gift', 'check the mail', 'turn off the oven', 'play tennis at 5', 'clean the kitchen', 'walk the dog', 'text the plumber', 'buy milk', 'call the dentist', 'take out the trash', 'pay rent', 'water the plants', 'pick up the kids', 'book flights', 'feed the cat'], heldout: ['renew my passport', 'send the invoice', 'charge the car'] },
  city: { train: ['dublin', 'mumbai', 'cairo', 'boston', 'vienna', 'denver', 'austin', 'prague', 'seoul', 'lima', 'miami', 'munich', 'paris', 'london', 'new york', 'tokyo', 'berlin', 'madrid', 'chicago', 'sydney', 'rome', 'toronto'], heldout: ['oslo', 'lisbon', 'seattle', 'nairobi'] },
  song: { train: ['some blues', 'ed sheeran', 'the rolling stones', 'hip hop', 'my road trip playlist', 'relaxing piano', 'billie eilish', 'some country', 'reggae', 'the top hits', 'imagine dragons', 'some jazz', 'taylor swift', 'the beatles', 'lofi beats', 'my workout playlist', 'classical music', 'bohemian rhapsody', 'some rock'], heldout: ['miles davis', 'k-pop', 'my chill mix'] },
  room: { train: ['dining room', 'basement', 'kids room', 'attic', 'patio', 'study', 'kitchen', 'living room', 'bedroom', 'office', 'hallway', 'garage'], heldout: ['bathroom', 'porch'] },
  onoff: { train: ['on', 'off'], heldout: ['on', 'off'] },
  person: { train: ['my sister', 'dr smith', 'jessica', 'tom', 'my boss', 'uncle bob', 'lisa', 'the plumber', 'my wife', 'david', 'mom', 'dad', 'alex', 'sarah', 'john', 'the office', 'grandma', 'mike'], heldout: ['emma', 'my brother', 'dr lee'] },
  text: { train: ['ill be home at 6', 'running 10 minutes late', 'pick up bread', 'good night', 'the meeting is at 4', 'love you', 'where are you', 'call me when you land', 'thanks for today', 'im running late', 'see you soon', 'call me back', 'dinner is ready', 'happy birthday'], heldout: ['on my way', 'meeting moved to 3'] },
  topic: { train: ['entertainment', 'finance', 'travel', 'climate', 'gaming', 'sports', 'tech', 'business', 'world', 'local', 'science'], heldout: ['politics', 'health'] },
  level: { train: ['to 10', 'to 2', 'to half', 'a little', 'to 80 percent', 'way up', 'all the way down', 'to 3', 'up', 'down', 'to 5', 'to 30 percent', 'to max'], heldout: ['to 7', 'a bit lower'] },
};

const PHRASES: Record<IntentName, { train: string[]; heldout: string[] }> = {
  alarm: {
    train: ['wake me at {time} {day}', 'can i get an alarm for {time}', 'please set an alarm at {time} {day}', 'new alarm {time}', 'i want to wake up at {time}', 'alarm me at {time}', 'set a wake up alarm for {time} {day}', 'schedule an alarm for {time}', 'set an alarm for {time}', 'wake me up at {time}', 'alarm at {time} {day}', 'set my alarm to {time}', 'i need an alarm at {time}', 'create an alarm for {time} {day}', 'alarm for {time}'],
    heldout: ['put an alarm on for {time}', 'make sure i wake up at {time} {day}', 'get me up at {time} with an alarm'],
  },
  timer: {
    train: ['timer for {duration} please', 'start the timer for {duration}', 'run a timer for {duration}', 'can i get a {duration} timer', 'set a countdown for {duration}', 'time {duration} for me', 'new timer {duration}', 'let me know when {duration} is up', 'set a timer for {duration}', 'start a {duration} timer', 'timer {duration}', 'count down {duration}', 'set timer {duration}', 'i need a timer for {duration}'],
    heldout: ['begin a timer of {duration}', 'put a {duration} timer on', 'countdown from {duration}'],
  },
  reminder: {
    train: ['remind me {day} to {task}', 'remind me at {time} to {task}', 'can you remind me to {task}', 'i need a reminder to {task}', 'create a reminder: {task}', 'put a reminder to {task} {day}', 'set up a reminder for {task}', 'remind me to {task}', 'remind me to {task} {day}', 'set a reminder to {task}', 'dont let me forget to {task}', 'add a reminder {task} at {time}', 'reminder to {task}'],
    heldout: ['make a reminder that i have to {task}', 'send me a reminder to {task} {day}', 'i have to {task}, remind me'],
  },
  weather: {
    train: ['what will the weather be {day}', 'is it going to snow in {city}', 'how is the weather in {city} {day}', 'temperature in {city}', 'is it windy in {city}', 'forecast {day}', 'do i need a jacket {day}', 'check the weather in {city}', 'how warm will it be {day}', 'is it sunny outside', 'will it be cloudy {day}', 'whats the weather in {city}', 'weather {day}', 'will it rain in {city} {day}', 'how hot is it in {city}', 'weather forecast for {city}', 'is it cold outside', 'do i need an umbrella {day}'],
    heldout: ['what is the forecast like in {city} {day}', 'tell me the weather', 'will it be sunny in {city}'],
  },
  music: {
    train: ['play {song} please', 'can you play {song}', 'i feel like listening to {song}', 'music please', 'play something by {song}', 'put some {song} on', 'start the playlist {song}', 'resume the music', 'play me {song}', 'play {song}', 'put on {song}', 'play some music', 'i want to hear {song}', 'start playing {song}', 'shuffle {song}', 'play music by {song}', 'play the song {song}'],
    heldout: ['let me listen to music by {song}', 'throw on some {song} music', 'queue up the song {song}'],
  },
  lights: {
    train: ['turn the {room} lights {onoff}', 'can you switch {onoff} the lights', 'lights {onoff}', 'brighten the {room}', 'set the {room} lights to dim', 'switch {onoff} the {room} lamp', 'turn {onoff} all the lights', 'make it brighter in the {room}', 'turn {onoff} the lights in the {room}', 'lights {onoff} in the {room}', 'switch the {room} lights {onoff}', 'turn the lights {onoff}', 'dim the lights in the {room}', 'turn {onoff} the {room} light'],
    heldout: ['flip the {room} lights {onoff}', 'make the {room} lights brighter', 'kill the lights in the {room}'],
  },
  call: {
    train: ['call {person} please', 'can you call {person}', 'place a call to {person}', 'phone call to {person}', 'i want to call {person}', 'ring up {person}', 'facetime {person}', 'call {person} on speaker', 'call {person}', 'phone {person}', 'ring {person}', 'give {person} a call', 'dial {person}', 'start a call with {person}'],
    heldout: ['get {person} on the phone', 'make a phone call to {person}', 'video call {person}'],
  },
  message: {
    train: ['send {person} a message', 'text {person} saying {text}', 'message {person}', 'send a text to {person} that says {text}', 'write a text to {person}', 'tell {person} that {text}', 'send {person} the message {text}', 'reply to {person} {text}', 'text {person} {text}', 'send a message to {person} saying {text}', 'message {person} that {text}', 'send {person} a text', 'tell {person} {text} by text', 'send a text to {person}'],
    heldout: ['shoot {person} a message saying {text}', 'write {person} a message: {text}', 'drop {person} a text that {text}'],
  },
  news: {
    train: ['news please', 'whats new in {topic}', 'play the news', 'top stories {day}', 'tell me the {topic} news', 'any news {day}', 'latest headlines', 'read the headlines', 'what happened in {topic} {day}', 'whats the news', 'read me the {topic} news', 'news headlines', 'give me the latest {topic} news', 'whats happening in the news {day}', 'any {topic} headlines'],
    heldout: ['catch me up on the {topic} news', 'brief me on todays headlines', 'what are the top {topic} headlines'],
  },
  volume: {
    train: ['louder please', 'turn up the volume', 'volume {level} please', 'make it quieter', 'lower the sound', 'change the volume {level}', 'put the volume {level}', 'can you turn it up', 'unmute', 'turn the volume {level}', 'volume {level}', 'make it louder', 'turn it down', 'set the volume {level}', 'lower the volume', 'mute the sound'],
    heldout: ['crank the volume {level}', 'can the volume go {level}', 'raise the sound {level}'],
  },
};

const FRAMES: { train: Array<[string, string]>; heldout: Array<[string, string]> } = {
  train: [['hey, ', ''], ['um ', ''], ['so ', ''], ['', ' right now'], ['', ' for me'], ['', ' if you can'], ['quick question ', ''], ['alright ', ''], ['okay so ', ''], ['hi ', ' thanks'], ['can you please ', ''], ['i need you to ', ''], ['hey there ', ' please'], ['', ''], ['', ''], ['please ', ''], ['', ' please'], ['can you ', ''], ['could you ', ''], ['hey ', ''], ['ok ', ''], ['', ' thanks'], ['i want you to ', ''], ['hey assistant ', '']],
  heldout: [['', ''], ['would you ', ''], ['assistant, ', ''], ['', ' now'], ['yo ', ' thank you']],
};

const JOINERS = { train: [' and ', ' and ', ' and then ', ' and also ', ' and after that ', ', and '], heldout: [' and ', ' and then ', ' and also '] };

/**
 * Training only: what names each intent as a noun phrase, said after one of LEADS, which every
 * intent shares ("give me the forecast", "give me a timer for 5 minutes"). In the templates a
 * verb or a construction goes with one intent ("tell {person} that ..." is always a message),
 * and a model learns those instead of the words that name the intent; a lead says nothing of
 * the intent, so it pushes the model to read the object. Leads and objects are chosen so that no
 * held-out phrasing comes out of them.
 */
const OBJECTS: Record<IntentName, string[]> = {
  alarm: ['an alarm for {time}', 'an alarm at {time} {day}', 'a wake up alarm', 'my {time} alarm', 'the alarm for {day}'],
  timer: ['a timer for {duration}', 'a {duration} timer', 'the kitchen timer', 'a countdown of {duration}', 'a timer'],
  reminder: ['a reminder to {task}', 'a reminder for {day}', 'my reminders', 'a reminder about {task}'],
  weather: ['the weather', 'the weather in {city}', 'the forecast for {city}', 'the weather report {day}', 'the temperature outside', 'the forecast'],
  music: ['some music', 'the song {song}', 'music by {song}', '{song}', 'my music', 'a song', 'the playlist {song}'],
  lights: ['the lights', 'the {room} lights', 'the lights in the {room}', 'the {room} lamp', 'the lights {onoff}'],
  call: ['a call with {person}', 'a phone call with {person}', 'a call to {person}', 'the phone', 'a video chat with {person}'],
  message: ['a message to {person}', 'a text to {person}', 'a message for {person} saying {text}', 'my messages', 'a new text'],
  news: ['the news', 'the {topic} news', 'the headlines', 'the {topic} headlines', 'the top stories', 'todays news'],
  volume: ['the volume {level}', 'more volume', 'the sound {level}', 'less volume', 'the volume'],
};
const LEADS = ['can i get ', 'i want ', 'i need ', 'give me ', 'set up ', 'start ', 'go ahead with ', 'lets do ', 'how about ', 'show me ', 'bring up ', 'open ', 'run ', 'i would like ', 'id like '];
/** The share of training intents said as a lead and an object rather than a template. */
const COMPOSED_SHARE = 0.4;

/** Said in passing; put into training utterances only (see the header). */
const FILLERS = ['just', 'like', 'um', 'quickly', 'maybe', 'actually', 'real quick', 'uh', 'basically', 'kindly'];

/** Letters beside each one on a QWERTY keyboard, for replacement typos. */
const NEIGHBOURS: Record<string, string> = {
  q: 'wa', w: 'qes', e: 'wrd', r: 'etf', t: 'ryg', y: 'tuh', u: 'yij', i: 'uok', o: 'ipl', p: 'ol', a: 'qsz', s: 'adwx', d: 'sfec', f: 'dgrv',
  g: 'fhtb', h: 'gjyn', j: 'hkum', k: 'jli', l: 'kop', z: 'asx', x: 'zsdc', c: 'xdfv', v: 'cfgb', b: 'vghn', n: 'bhjm', m: 'njk',
};

const FILLER_SHARE = 0.25;

/** The phrasings, frames, joiners and slot values of one split, for checking that the splits share none. */
export function intentPools(split: IntentSplit): { phrases: string[]; frames: string[]; joiners: string[]; slots: Record<string, string[]> } {
  return {
    // Training also says every lead with every object.
    phrases: [...INTENTS.flatMap((intent) => PHRASES[intent][split]), ...(split === 'train' ? INTENTS.flatMap((intent) => OBJECTS[intent].flatMap((o) => LEADS.map((l) => l + o))) : [])],
    frames: FRAMES[split].map(([before, after]) => `${before}|${after}`),
    joiners: [...JOINERS[split]],
    slots: Object.fromEntries(Object.entries(SLOTS).map(([name, pool]) => [name, [...pool[split]]])),
  };
}

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
  const composed = split === 'train' && rng.uniform() < COMPOSED_SHARE;
  const template = composed ? pick(rng, LEADS) + pick(rng, OBJECTS[intent]) : pick(rng, PHRASES[intent][split]);
  return template.replace(/\{(\w+)\}/g, (_, slot: string) => pick(rng, SLOTS[slot][split])).replace(/\s+/g, ' ').trim();
}

function withFiller(rng: SeededRandom, text: string): string {
  const words = text.split(' ');
  const at = 1 + randomInt(rng, Math.max(1, words.length - 1));
  words.splice(at, 0, pick(rng, FILLERS));
  return words.join(' ');
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
    if (split === 'train' && rng.uniform() < FILLER_SHARE) text = withFiller(rng, text);
    if (rng.uniform() < typos) text = typo(rng, text);
    return { input: casing(rng, text), label: intents };
  }, `intents (${split})`);
}
