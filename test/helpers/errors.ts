import { expect } from 'vitest'
import { EtlError } from '../../src/errors.js'

/** The EtlError a call throws; fails the test if it throws nothing or something else. */
export function thrown(fn: () => unknown): EtlError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(EtlError)
    return error as EtlError
  }
  throw new Error('expected an EtlError, but nothing was thrown')
}
