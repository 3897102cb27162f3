/** `1 stage`, `2 stages`: a count and its noun, as a person writes them. */
export const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
