import { services, type Service } from '../../schemas/events.js'

/** Service bits, in the order of `services` in schemas/events.ts. */
export const Bits = {
  phone: 1 << 0,
  dsl: 1 << 1,
  fiber: 1 << 2,
  streamingTv: 1 << 3,
  streamingMovies: 1 << 4,
  security: 1 << 5,
  backup: 1 << 6,
  deviceProtection: 1 << 7,
  techSupport: 1 << 8,
} as const

export const internetBits = Bits.dsl | Bits.fiber
/** Add-ons that need an internet line. */
export const extraBits = [Bits.streamingTv, Bits.streamingMovies, Bits.security, Bits.backup, Bits.deviceProtection, Bits.techSupport] as const

/** Monthly list prices: plan base fee (basic, standard, premium) plus each service. */
const planBaseFee = [10, 20, 30] as const
const servicePrices = [20, 25, 45, 10, 10, 5, 5, 5, 7] as const

/** Chance of each add-on by plan (basic, standard, premium), given an internet line. */
export const extraChance = [
  [0.1, 0.35, 0.7],
  [0.1, 0.35, 0.7],
  [0.15, 0.35, 0.6],
  [0.15, 0.35, 0.6],
  [0.15, 0.3, 0.6],
  [0.1, 0.3, 0.6],
] as const

/** Internet line by plan: [dsl, fiber] chances (the rest has none). */
export const internetChance = [
  [0.6, 0.15],
  [0.4, 0.5],
  [0.15, 0.85],
] as const

export function roundCents(amount: number): number {
  return Math.round(amount * 100) / 100
}

/** The monthly charge follows from plan, services and the customer's price factor (region, past price rises). */
export function monthlyCharge(plan: number, serviceMask: number, priceFactor: number): number {
  let list = planBaseFee[plan] ?? 0
  for (let bit = 0; bit < servicePrices.length; bit++) {
    if ((serviceMask & (1 << bit)) !== 0) list += servicePrices[bit] ?? 0
  }
  return roundCents(list * priceFactor)
}

export function serviceList(serviceMask: number): Service[] {
  const list: Service[] = []
  services.forEach((service, bit) => {
    if ((serviceMask & (1 << bit)) !== 0) list.push(service)
  })
  return list
}

/** Data volume per usage minute: streaming over fiber moves far more than a phone-only line. */
export function megabytesPerMinute(serviceMask: number): number {
  const line = (serviceMask & Bits.fiber) !== 0 ? 25 : (serviceMask & Bits.dsl) !== 0 ? 8 : 0.5
  return (serviceMask & (Bits.streamingTv | Bits.streamingMovies)) !== 0 ? line * 1.6 : line
}

export const regions = ['north', 'south', 'east', 'west', 'central', 'coast', 'mountain', 'metro'] as const
