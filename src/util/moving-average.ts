/** An exponential moving average: NaN until the first sample, then 80% what it was and 20% the new sample. */
export class MovingAverage {
  value = NaN;

  add(sample: number): void {
    this.value = Number.isNaN(this.value) ? sample : 0.8 * this.value + 0.2 * sample;
  }
}
